output "user_pool_id" {
  description = "User pool id."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "User pool ARN."
  value       = aws_cognito_user_pool.this.arn
}

output "client_id" {
  description = "App client id (JWT audience)."
  value       = aws_cognito_user_pool_client.this.id
}

output "client_secret" {
  description = "App client secret."
  value       = aws_cognito_user_pool_client.this.client_secret
  sensitive   = true
}

output "issuer" {
  description = "JWT issuer URL of the pool."
  value       = local.issuer
}

output "jwks_url" {
  description = "JWKS URL of the pool."
  value       = "${local.issuer}/.well-known/jwks.json"
}

output "hosted_ui_base_url" {
  description = "Base URL of the hosted UI domain."
  value       = local.hosted_ui_base
}

output "sign_in_url" {
  description = "Hosted-UI sign-in URL (authorization-code flow, first callback URL)."
  value       = "${local.hosted_ui_base}/oauth2/authorize?response_type=code&client_id=${aws_cognito_user_pool_client.this.id}&scope=openid+email+profile&redirect_uri=${urlencode(var.callback_urls[0])}"
}

output "token_endpoint" {
  description = "OAuth2 token endpoint."
  value       = "${local.hosted_ui_base}/oauth2/token"
}

output "group_names" {
  description = "Names of the groups created."
  value       = [for g in aws_cognito_user_group.this : g.name]
}
