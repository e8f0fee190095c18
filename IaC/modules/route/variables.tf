variable "project_name" {
  type        = string
  description = "Project prefix for resource names."
}

variable "function_name" {
  type        = string
  description = "Function (crate) name; the Lambda is named <project_name>-<function_name>."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.function_name))
    error_message = "function_name must be lowercase letters, digits and hyphens."
  }
}

variable "route_key" {
  type        = string
  description = "API Gateway route key, e.g. \"GET /notes/{id}\"."

  validation {
    condition     = can(regex("^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) /", var.route_key))
    error_message = "route_key must be \"<METHOD> /<path>\"."
  }
}

variable "auth" {
  type        = string
  description = "\"jwt\" to require the JWT authorizer, \"none\" for a public route."

  validation {
    condition     = contains(["jwt", "none"], var.auth)
    error_message = "auth must be \"jwt\" or \"none\"."
  }
}

variable "scopes" {
  type        = list(string)
  description = "OAuth scopes the JWT authorizer requires (empty: any valid token)."
  default     = []
}

variable "groups" {
  type        = list(string)
  description = "Cognito groups the function requires (enforced in the function; informational here)."
  default     = []
}

variable "memory" {
  type        = number
  description = "Memory size in MB."
  default     = 128

  validation {
    condition     = var.memory >= 128 && var.memory <= 10240
    error_message = "memory must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  type        = number
  description = "Timeout in seconds."
  default     = 10

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 29
    error_message = "timeout must be 1-29 s (API Gateway integrations time out at 30 s)."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL environment variable."
  default     = "info"
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's log group, in days."
  default     = 14
}

variable "kms_key_arn" {
  type        = string
  description = "Optional KMS key ARN to encrypt the log group."
  default     = null
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions (-1: unreserved)."
  default     = -1
}

variable "extra_environment" {
  type        = map(string)
  description = "Additional environment variables for the function."
  default     = {}
}

variable "artifacts_bucket" {
  type        = string
  description = "Bucket holding the function zips."
}

variable "package_path" {
  type        = string
  description = "Local path of the packaged zip uploaded on first apply (from `cargo xtask package`)."
}

variable "notes_table" {
  type        = string
  description = "Name of the notes table (NOTES_TABLE)."
}

variable "notes_table_arn" {
  type        = string
  description = "ARN of the notes table (for the IAM policy)."
}

variable "dynamodb_actions" {
  type        = list(string)
  description = "DynamoDB actions the function needs on the notes table (least privilege), from its crate's `dynamodb = [...]`."
  default     = []

  validation {
    condition     = alltrue([for a in var.dynamodb_actions : contains(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchGetItem"], a)])
    error_message = "Only dynamodb:GetItem, PutItem, UpdateItem, DeleteItem, Query and BatchGetItem are allowed (crates/function-table's DynamoAccess)."
  }
}

variable "api_id" {
  type        = string
  description = "HTTP API id."
}

variable "api_execution_arn" {
  type        = string
  description = "HTTP API execution ARN."
}

variable "authorizer_id" {
  type        = string
  description = "JWT authorizer id (used when auth = \"jwt\")."
}
