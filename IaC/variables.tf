variable "region" {
  type        = string
  description = "AWS region to deploy into."
  default     = "eu-west-1"
}

variable "project_name" {
  type        = string
  description = "Short project name, used as a prefix for every resource name."
  default     = "notes-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "stage_name" {
  type        = string
  description = "API Gateway stage name (part of the invoke URL)."
  default     = "serverless_lambda_stage"
}

variable "cognito_domain_prefix" {
  type        = string
  description = "Prefix of the Cognito hosted-UI domain (<prefix>.auth.<region>.amazoncognito.com); must be globally unique in the region."
  default     = "notes-api-auth"

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix)) && !can(regex("aws|amazon|cognito", var.cognito_domain_prefix))
    error_message = "cognito_domain_prefix must be lowercase letters, digits and hyphens, and must not contain aws, amazon or cognito."
  }
}

variable "callback_urls" {
  type        = list(string)
  description = "OAuth2 callback URLs allowed for the app client."
  default     = ["http://localhost:3000/callback"]
}

variable "logout_urls" {
  type        = list(string)
  description = "Sign-out URLs allowed for the app client."
  default     = ["http://localhost:3000/"]
}

variable "cors_allow_origins" {
  type        = list(string)
  description = "Origins allowed by the HTTP API CORS configuration."
  default     = ["http://localhost:3000"]
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL passed to every function."
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be one of error, warn, info, debug, trace."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the Lambda and API access log groups, in days."
  default     = 14
}

variable "package_dir" {
  type        = string
  description = "Directory holding the packaged functions (<package_dir>/<function>/bootstrap.zip), written by `cargo xtask package`."
  default     = "../target/lambda"
}

variable "force_destroy_buckets" {
  type        = bool
  description = "Let `terraform destroy` delete non-empty buckets (all notes and artifacts are lost). Default false."
  default     = false
}

variable "s3_tls_only_policy" {
  type        = bool
  description = "Attach TLS-only bucket policies. Keep true on AWS; set false only against emulators (moto ignores aws:SecureTransport and denies everything)."
  default     = true
}

variable "routes" {
  type = map(object({
    route_key = string
    method    = string
    path      = string
    auth      = string
    scopes    = list(string)
    groups    = list(string)
    memory    = number
    timeout   = number
  }))
  description = "One entry per function; generated into routes.auto.tfvars.json by `cargo xtask routes`. Do not edit by hand."

  validation {
    condition     = alltrue([for r in values(var.routes) : contains(["jwt", "none"], r.auth)])
    error_message = "Each route's auth must be \"jwt\" or \"none\"."
  }
}

# Discouraged: prefer the standard AWS credential chain (profile, SSO, environment, OIDC).
variable "aws_access_key" {
  type        = string
  description = "DISCOURAGED. Static AWS access key id; leave null to use the standard credential chain."
  default     = null
  sensitive   = true
}

variable "aws_secret_key" {
  type        = string
  description = "DISCOURAGED. Static AWS secret access key; leave null to use the standard credential chain."
  default     = null
  sensitive   = true
}

variable "enable_github_deploy_role" {
  type        = bool
  description = "Create the IAM role GitHub Actions assumes with OIDC to deploy (modules/github_deploy). Off by default."
  default     = false
}

variable "github_repository" {
  type        = string
  description = "OWNER/REPO allowed to assume the deploy role (with enable_github_deploy_role)."
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO."
  }

  validation {
    condition     = !var.enable_github_deploy_role || var.github_repository != ""
    error_message = "enable_github_deploy_role needs github_repository (OWNER/REPO): the role trusts only that repository."
  }
}

variable "github_environment" {
  type        = string
  description = "The GitHub environment of the deploy job; the role's trust pins it."
  default     = "production"
}

variable "create_github_oidc_provider" {
  type        = bool
  description = "Create the account's GitHub OIDC provider; false when it already exists."
  default     = true
}
