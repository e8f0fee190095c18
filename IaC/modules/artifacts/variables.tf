variable "name" {
  type        = string
  description = "Name prefix for the buckets (bucket_prefix makes them unique)."

  validation {
    condition     = length(var.name) <= 26
    error_message = "name must be at most 26 characters so that the generated bucket names fit in 63."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow `terraform destroy` to delete non-empty buckets (all object versions are lost)."
  default     = false
}

variable "noncurrent_version_days" {
  type        = number
  description = "Days after which noncurrent object versions expire."
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Optional KMS key ARN for SSE-KMS; null means SSE-S3 (AES256)."
  default     = null
}

variable "tls_only_policy" {
  type        = bool
  description = "Attach the bucket policy denying non-TLS requests. Keep true on AWS; only emulators that cannot evaluate aws:SecureTransport (moto denies every object call) need false."
  default     = true
}
