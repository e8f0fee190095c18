output "artifacts_bucket_name" {
  description = "Name of the bucket holding the function zips."
  value       = module.bucket["artifacts"].id
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = module.bucket["artifacts"].arn
}

output "notes_bucket_name" {
  description = "Name of the bucket holding the notes."
  value       = module.bucket["notes"].id
}

output "notes_bucket_arn" {
  description = "ARN of the notes bucket."
  value       = module.bucket["notes"].arn
}
