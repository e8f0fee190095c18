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
  description = "Prefix of the Cognito hosted-UI domain (<prefix>.auth.<region>.amazoncognito.com). Required, no default: prefixes are global per region, so pick one nobody else uses (e.g. <project>-<your-org>)."

  # Cognito domain rules: lowercase letters, digits and hyphens, not starting or ending with a
  # hyphen, at most 63 characters, without the reserved words aws, amazon or cognito
  # (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html).
  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix)) && !can(regex("aws|amazon|cognito", var.cognito_domain_prefix))
    error_message = "cognito_domain_prefix must be 1-63 lowercase letters, digits and hyphens (no hyphen first or last), and must not contain aws, amazon or cognito."
  }
}

variable "callback_urls" {
  type        = list(string)
  description = "OAuth2 callback URLs allowed for the app client (Cognito sends the authorization code there). Required: https://, or http:// only for http://localhost or http://127.0.0.1 (any port and path); terraform.tfvars.example has the local ones."

  validation {
    condition     = length(var.callback_urls) > 0
    error_message = "callback_urls needs at least one URL."
  }

  validation {
    condition     = alltrue([for u in var.callback_urls : !startswith(lower(u), "http://") || can(regex("^http://(localhost|127\\.0\\.0\\.1)(:[0-9]{1,5})?(/\\S*)?$", u))])
    error_message = "callback_urls: plain http:// is allowed only for http://localhost and http://127.0.0.1 (any port and path); use https:// for every other host."
  }
}

variable "logout_urls" {
  type        = list(string)
  description = "Sign-out URLs allowed for the app client. Required: https://, or http:// only for http://localhost or http://127.0.0.1 (any port and path)."

  validation {
    condition     = alltrue([for u in var.logout_urls : !startswith(lower(u), "http://") || can(regex("^http://(localhost|127\\.0\\.0\\.1)(:[0-9]{1,5})?(/\\S*)?$", u))])
    error_message = "logout_urls: plain http:// is allowed only for http://localhost and http://127.0.0.1 (any port and path); use https:// for every other host."
  }
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
    # IAM actions on the notes table, from `dynamodb = [...]`.
    dynamodb_actions = list(string)
  }))
  description = "One entry per function; generated into routes.auto.tfvars.json by `cargo xtask routes`. Do not edit by hand."

  validation {
    condition     = alltrue([for r in values(var.routes) : contains(["jwt", "none"], r.auth)])
    error_message = "Each route's auth must be \"jwt\" or \"none\"."
  }

  # The groups become Cognito groups: CreateGroup's GroupName is 1 to 128 characters matching
  # [\p{L}\p{M}\p{S}\p{N}\p{P}]+
  # (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html).
  validation {
    condition     = alltrue(flatten([for r in values(var.routes) : [for g in r.groups : can(regex("^[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]{1,128}$", g))]]))
    error_message = "Each route's groups must be Cognito group names: 1 to 128 letters, marks, symbols, digits or punctuation, with no whitespace and no control characters."
  }

  # The artifacts bucket keeps each function's zips under <function>/ and the published deploy
  # stack at deploy/stack.json; a function named deploy would share that prefix.
  validation {
    condition     = !contains(keys(var.routes), "deploy")
    error_message = "No function may be named \"deploy\": the artifacts bucket's deploy/ prefix holds the published stack (deploy/stack.json)."
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

variable "notes_table_deletion_protection" {
  type        = bool
  description = "Refuse to delete the notes table. Keep true on AWS; set false (and apply) before a `terraform destroy` that should take the notes with it."
  default     = true
}
