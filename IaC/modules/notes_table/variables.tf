variable "name" {
  type        = string
  description = "Name prefix: the table is <name>-notes."
}

variable "kms_key_arn" {
  type        = string
  description = "Optional customer-managed KMS key ARN for the table; null means DynamoDB's AWS-owned key (encrypted at rest either way)."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the table (terraform destroy fails until this is false)."
  default     = true
}
