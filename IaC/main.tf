provider "aws" {
  region     = var.region
  access_key = var.aws_access_key
  secret_key = var.aws_secret_key

  default_tags {
    tags = {
      Project   = var.project_name
      ManagedBy = "terraform"
    }
  }
}

module "cognito" {
  source = "./modules/cognito"

  name          = var.project_name
  domain_prefix = var.cognito_domain_prefix
  callback_urls = var.callback_urls
  logout_urls   = var.logout_urls
  # `admin` plus every group a route requires (IaC/routes.auto.tfvars.json).
  groups = distinct(concat(["admin"], flatten([for r in values(var.routes) : r.groups])))
}

module "artifacts" {
  source = "./modules/artifacts"

  name            = var.project_name
  force_destroy   = var.force_destroy_buckets
  tls_only_policy = var.s3_tls_only_policy
}

module "notes_table" {
  source = "./modules/notes_table"

  name                = var.project_name
  deletion_protection = var.notes_table_deletion_protection
}

module "http_api" {
  source = "./modules/http_api"

  name               = var.project_name
  stage_name         = var.stage_name
  cors_allow_origins = var.cors_allow_origins
  jwt_issuer         = module.cognito.issuer
  jwt_audience       = [module.cognito.client_id]
  log_retention_days = var.log_retention_days
}

module "route" {
  source   = "./modules/route"
  for_each = var.routes

  project_name       = var.project_name
  function_name      = each.key
  route_key          = each.value.route_key
  auth               = each.value.auth
  scopes             = each.value.scopes
  groups             = each.value.groups
  memory             = each.value.memory
  timeout            = each.value.timeout
  log_level          = var.log_level
  log_retention_days = var.log_retention_days

  artifacts_bucket = module.artifacts.artifacts_bucket_name
  package_path     = "${var.package_dir}/${each.key}/bootstrap.zip"
  notes_table      = module.notes_table.name
  notes_table_arn  = module.notes_table.arn

  # Least privilege on the notes table, as each function crate declares it (`dynamodb = [...]`
  # in its Cargo.toml; crates/function-table turns it into these IAM actions).
  dynamodb_actions = each.value.dynamodb_actions

  api_id            = module.http_api.api_id
  api_execution_arn = module.http_api.execution_arn
  authorizer_id     = module.http_api.authorizer_id
}

# What `cargo xtask deploy` and `rollback` need to find the stack, published where the deploy
# role may read it (`--stack s3://<artifacts>/deploy/stack.json`), so a deploy never needs
# Terraform or its state (which holds the app client's secret). Nothing secret goes in here.
data "aws_region" "current" {}

locals {
  deploy_stack_key = "deploy/stack.json"
  deploy_stack = {
    version          = 1
    region           = data.aws_region.current.name
    artifacts_bucket = module.artifacts.artifacts_bucket_name
    function_names   = { for k, m in module.route : k => m.function_name }
    alias            = one(distinct([for m in module.route : m.alias_name]))
  }
}

resource "aws_s3_object" "deploy_stack" {
  bucket       = module.artifacts.artifacts_bucket_name
  key          = local.deploy_stack_key
  content      = jsonencode(local.deploy_stack)
  content_type = "application/json"
}

# Optional: the role `.github/workflows/deploy.yml` assumes with OIDC (no AWS keys in GitHub).
module "github_deploy" {
  source = "./modules/github_deploy"
  count  = var.enable_github_deploy_role ? 1 : 0

  name                 = var.project_name
  github_repository    = var.github_repository
  github_environment   = var.github_environment
  create_oidc_provider = var.create_github_oidc_provider
  artifacts_bucket_arn = module.artifacts.artifacts_bucket_arn
  artifact_prefixes    = [for k in keys(var.routes) : "${k}/"]
  stack_object_key     = aws_s3_object.deploy_stack.key
  function_arns        = [for r in module.route : r.function_arn]
}
