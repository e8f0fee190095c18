# The role GitHub Actions assumes with OIDC to run `cargo xtask deploy`: no long-lived keys.
# Trust is pinned to one repository's environment (`sub`) and to STS as the audience (`aud`);
# the permissions are exactly what the deploy engine calls.

locals {
  oidc_host = "token.actions.githubusercontent.com"
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : (
    "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.oidc_host}"
  )
}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # IAM no longer checks the thumbprint for this provider; the field is still required.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name_prefix          = "${var.name}-deploy-"
  description          = "GitHub Actions deploys of ${var.github_repository} (${var.github_environment})"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "FindTheBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
  }

  statement {
    sid       = "PutAndCheckZips"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = [for prefix in var.artifact_prefixes : "${var.artifacts_bucket_arn}/${prefix}*"]
  }

  # The stack the deploy reads (`--stack`) instead of Terraform's state: read only.
  statement {
    sid       = "ReadTheStack"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/${var.stack_object_key}"]
  }

  statement {
    sid = "RollOutCode"
    actions = [
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:UpdateFunctionCode",
      "lambda:PublishVersion",
      "lambda:ListVersionsByFunction",
      "lambda:GetAlias",
      "lambda:UpdateAlias",
    ]
    resources = concat(var.function_arns, [for arn in var.function_arns : "${arn}:*"])
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
