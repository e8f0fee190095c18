output "function_name" {
  description = "Lambda function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = aws_lambda_function.this.arn
}

output "alias_arn" {
  description = "ARN of the `live` alias."
  value       = aws_lambda_alias.live.arn
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Function log group name."
  value       = aws_cloudwatch_log_group.this.name
}

output "route_id" {
  description = "API Gateway route id."
  value       = aws_apigatewayv2_route.this.id
}

output "route_source_arn" {
  description = "execute-api ARN the invoke permission is scoped to."
  value       = local.source_arn
}

output "alias_name" {
  description = "The alias API Gateway invokes and `cargo xtask deploy` moves."
  value       = aws_lambda_alias.live.name
}
