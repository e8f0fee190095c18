variable "bucket_prefix" {
  type        = string
  description = "Prefix of the bucket name; S3 appends a unique suffix."
}

variable "force_destroy" {
  type        = bool
  description = "Allow `terraform destroy` to delete the bucket while it holds objects."
}

variable "noncurrent_version_days" {
  type        = number
  description = "Days after which noncurrent object versions expire."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key ARN for SSE-KMS; null means SSE-S3 (AES256)."
}

variable "tls_only_policy" {
  type        = bool
  description = "Attach the bucket policy denying non-TLS requests."
}
