output "artifacts_bucket_name" {
  description = "Name of the bucket holding the function zips."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = aws_s3_bucket.this["artifacts"].arn
}

output "notes_bucket_name" {
  description = "Name of the bucket holding the notes."
  value       = aws_s3_bucket.this["notes"].id
}

output "notes_bucket_arn" {
  description = "ARN of the notes bucket."
  value       = aws_s3_bucket.this["notes"].arn
}
