output "artifacts_bucket_name" {
  description = "Name of the bucket holding the function zips."
  value       = module.bucket["artifacts"].id
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = module.bucket["artifacts"].arn
}
