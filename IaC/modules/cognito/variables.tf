variable "name" {
  type        = string
  description = "Name prefix for the user pool and app client."
}

variable "domain_prefix" {
  type        = string
  description = "Hosted-UI domain prefix (<prefix>.auth.<region>.amazoncognito.com)."
}

variable "callback_urls" {
  type        = list(string)
  description = "Allowed OAuth2 callback URLs."

  validation {
    condition     = length(var.callback_urls) > 0
    error_message = "At least one callback URL is required."
  }
}

variable "logout_urls" {
  type        = list(string)
  description = "Allowed sign-out URLs."
}

variable "groups" {
  type        = list(string)
  description = "User pool groups to create."
  default     = ["admin"]

  # Cognito's CreateGroup GroupName: 1 to 128 characters matching [\p{L}\p{M}\p{S}\p{N}\p{P}]+
  # (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html).
  validation {
    condition     = alltrue([for g in var.groups : can(regex("^[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]{1,128}$", g))])
    error_message = "Each Cognito group name must be 1 to 128 letters, marks, symbols, digits or punctuation: no whitespace and no control characters (CreateGroup's GroupName rule)."
  }
}

variable "password_minimum_length" {
  type        = number
  description = "Minimum password length."
  default     = 12

  validation {
    condition     = var.password_minimum_length >= 8 && var.password_minimum_length <= 99
    error_message = "password_minimum_length must be between 8 and 99."
  }
}

variable "access_token_validity_minutes" {
  type        = number
  description = "Access token validity, in minutes (5-1440)."
  default     = 60
}

variable "id_token_validity_minutes" {
  type        = number
  description = "Id token validity, in minutes (5-1440)."
  default     = 60
}

variable "refresh_token_validity_days" {
  type        = number
  description = "Refresh token validity, in days."
  default     = 30
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the user pool against deletion."
  default     = false
}
