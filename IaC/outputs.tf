locals {
  function_names = { for k, m in module.route : k => m.function_name }
  # The seed exposes a single function; keep it pointing at a stable one without naming it here
  # (the function table owns the names): the first, by name, whose route needs no token (the
  # status endpoint), else the first of all.
  open_functions   = sort([for name, route in var.routes : name if route.auth == "none"])
  primary_function = length(local.open_functions) > 0 ? local.open_functions[0] : sort(keys(var.routes))[0]
}

output "region" {
  description = "AWS region the stack lives in."
  value       = var.region
}

output "api_gateway_endpoint" {
  description = "Invoke URL of the HTTP API stage (base URL for every route)."
  value       = module.http_api.invoke_url
}

output "function_name" {
  description = "Name of one Lambda function: the first whose route needs no token (the status endpoint), kept for compatibility with the seed."
  value       = local.function_names[local.primary_function]
}

output "lambda_function_name" {
  description = "Same as function_name (seed compatibility)."
  value       = local.function_names[local.primary_function]
}

output "function_names" {
  description = "Map of function (crate) name to deployed Lambda function name."
  value       = local.function_names
}

output "s3_bucket_name" {
  description = "Artifacts bucket holding the function zips (used by `cargo xtask deploy`)."
  value       = module.artifacts.artifacts_bucket_name
}

output "deploy_stack_url" {
  description = "Where the deploy stack (region, artifacts bucket, function names, alias; nothing secret) is published: `cargo xtask deploy --stack <this>`, and the repository variable AWS_DEPLOY_STACK."
  value       = "s3://${aws_s3_object.deploy_stack.bucket}/${aws_s3_object.deploy_stack.key}"
}

output "notes_table_name" {
  description = "DynamoDB table holding the notes (an item per note, keyed by owner and note id)."
  value       = module.notes_table.name
}

output "user_pool_id" {
  description = "Cognito user pool id."
  value       = module.cognito.user_pool_id
}

output "client_id" {
  description = "Cognito app client id (the JWT audience)."
  value       = module.cognito.client_id
}

output "client_secret" {
  description = "Cognito app client secret (for the authorization-code token exchange)."
  value       = module.cognito.client_secret
  sensitive   = true
}

output "hosted_ui_sign_in_url" {
  description = "Hosted-UI sign-in URL (authorization-code flow, first callback URL)."
  value       = module.cognito.sign_in_url
}

output "token_endpoint" {
  description = "OAuth2 token endpoint of the hosted UI domain."
  value       = module.cognito.token_endpoint
}

output "jwks_url" {
  description = "JWKS URL of the user pool (keys that sign the tokens)."
  value       = module.cognito.jwks_url
}

output "issuer" {
  description = "JWT issuer of the user pool."
  value       = module.cognito.issuer
}

output "callback_urls" {
  description = "OAuth2 callback URLs of the app client; `cargo xtask login` listens on the first."
  value       = var.callback_urls
}

output "github_deploy_role_arn" {
  description = "The deploy role for GitHub Actions (set as the repository variable AWS_DEPLOY_ROLE_ARN); null unless enable_github_deploy_role."
  value       = var.enable_github_deploy_role ? module.github_deploy[0].role_arn : null
}
