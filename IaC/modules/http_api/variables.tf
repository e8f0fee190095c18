variable "name" {
  type        = string
  description = "Name prefix for the API and its log group."
}

variable "stage_name" {
  type        = string
  description = "Stage name (part of the invoke URL)."
  default     = "serverless_lambda_stage"
}

variable "jwt_issuer" {
  type        = string
  description = "JWT issuer URL (the Cognito user pool)."

  validation {
    condition     = startswith(var.jwt_issuer, "https://")
    error_message = "jwt_issuer must be an https URL."
  }
}

variable "jwt_audience" {
  type        = list(string)
  description = "Accepted JWT audiences (the Cognito app client id)."
}

variable "cors_allow_origins" {
  type        = list(string)
  description = "Origins allowed by CORS."
}

variable "cors_allow_methods" {
  type        = list(string)
  description = "Methods allowed by CORS."
  default     = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
}

variable "throttling_burst_limit" {
  type        = number
  description = "Default route burst limit for the stage."
  default     = 50
}

variable "throttling_rate_limit" {
  type        = number
  description = "Default route steady-state rate limit (requests per second) for the stage."
  default     = 100
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the access log group, in days."
  default     = 14
}

variable "kms_key_arn" {
  type        = string
  description = "Optional KMS key ARN to encrypt the access log group."
  default     = null
}
