variable "name" {
  type        = string
  description = "Name prefix for the role and its policy."
}

variable "github_repository" {
  type        = string
  description = "The repository allowed to assume the role, as OWNER/REPO."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }
}

variable "github_environment" {
  type        = string
  description = "The GitHub environment the deploy job runs in; the trust policy pins the token's sub to repo:OWNER/REPO:environment:<this>."
  default     = "production"
}

variable "create_oidc_provider" {
  type        = bool
  description = "Create the account's GitHub OIDC provider (token.actions.githubusercontent.com). Set false when the account already has one (an account may hold only one per URL)."
  default     = true
}

variable "artifacts_bucket_arn" {
  type        = string
  description = "ARN of the artifacts bucket the deploy uploads zips to."
}

variable "artifact_prefixes" {
  type        = list(string)
  description = "Key prefixes (<function>/) under which the deploy may put and check zips in the artifacts bucket."
}

variable "stack_object_key" {
  type        = string
  description = "Key of the published deploy stack in the artifacts bucket (deploy/stack.json): the one object outside the zip prefixes the deploy may read, and may not write."
}

variable "function_arns" {
  type        = list(string)
  description = "ARNs of the Lambda functions the deploy may update."
}
