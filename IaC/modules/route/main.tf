data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  lambda_name    = "${var.project_name}-${var.function_name}"
  log_group_name = "/aws/lambda/${local.lambda_name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"

  method = split(" ", var.route_key)[0]
  path   = split(" ", var.route_key)[1]
  # Route ARN: path parameters such as {id} or {proxy+} match any segment.
  source_arn = "${var.api_execution_arn}/*/${local.method}${replace(local.path, "/\\{[^}]+\\}/", "*")}"

  s3_key = "${var.function_name}/bootstrap.zip"
}

# --- IAM -----------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${local.lambda_name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  # Needed by tracing_config mode = "Active"; these X-Ray actions support no resource scoping.
  statement {
    sid       = "XRayTracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = length(var.dynamodb_actions) > 0 ? [1] : []

    # Only what the function crate declares (`dynamodb = [...]` in its Cargo.toml), only on the
    # notes table (its items and counters; it has no index).
    content {
      sid       = "NotesTable"
      actions   = var.dynamodb_actions
      resources = [var.notes_table_arn]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.lambda_name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# --- Logs ----------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days) to keep log storage cheap; raise it where compliance asks for a year.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# --- Code (initial upload only; later code comes from `cargo xtask deploy`) --

resource "aws_s3_object" "initial" {
  bucket = var.artifacts_bucket
  key    = local.s3_key
  source = var.package_path

  lifecycle {
    ignore_changes = [source, etag, source_hash]

    precondition {
      condition     = fileexists(var.package_path)
      error_message = "No package at ${var.package_path}: run `cargo xtask package` before `terraform plan` or `apply` (it writes <package_dir>/<function>/bootstrap.zip for every function)."
    }
  }
}

# --- Function ------------------------------------------------------------

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A dead-letter queue only applies to asynchronous invocations; API Gateway invokes synchronously and returns errors to the caller.
  #checkov:skip=CKV_AWS_117:The function talks only to DynamoDB and CloudWatch over HTTPS; a VPC would add NAT or endpoint cost and cold-start time for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code reaches the function only from the artifacts bucket via Terraform or `cargo xtask deploy`; add an AWS Signer code-signing config where policy requires it.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (table name, log level); Lambda encrypts it at rest with an AWS-managed key.
  function_name = local.lambda_name
  role          = aws_iam_role.this.arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  memory_size   = var.memory
  timeout       = var.timeout
  publish       = true

  s3_bucket = aws_s3_object.initial.bucket
  s3_key    = aws_s3_object.initial.key

  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = merge({
      NOTES_STORE                          = "dynamodb"
      NOTES_TABLE                          = var.notes_table
      LOG_LEVEL                            = var.log_level
      AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH = "true"
    }, var.extra_environment)
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    ignore_changes = [s3_key, s3_object_version, source_code_hash]
  }

  depends_on = [
    aws_iam_role_policy.this,
    aws_cloudwatch_log_group.this,
  ]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  # `cargo xtask deploy` publishes new versions and moves the alias.
  lifecycle {
    ignore_changes = [function_version]
  }
}

# --- API Gateway ---------------------------------------------------------

resource "aws_apigatewayv2_integration" "this" {
  api_id                 = var.api_id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_alias.live.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(30000, var.timeout * 1000 + 1000)
}

resource "aws_apigatewayv2_route" "this" {
  #checkov:skip=CKV_AWS_309:Every route uses the JWT authorizer except those whose crate metadata says auth = "none" (the status endpoint); `cargo xtask routes` validates that.
  api_id    = var.api_id
  route_key = var.route_key
  target    = "integrations/${aws_apigatewayv2_integration.this.id}"

  authorization_type   = var.auth == "jwt" ? "JWT" : "NONE"
  authorizer_id        = var.auth == "jwt" ? var.authorizer_id : null
  authorization_scopes = var.auth == "jwt" && length(var.scopes) > 0 ? var.scopes : null
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "apigateway.amazonaws.com"
  source_arn    = local.source_arn
}
