# Two buckets with the same protections (see ./bucket): function code and application data.

module "bucket" {
  source   = "./bucket"
  for_each = local.buckets

  bucket_prefix           = each.value
  force_destroy           = var.force_destroy
  noncurrent_version_days = var.noncurrent_version_days
  kms_key_arn             = var.kms_key_arn
  tls_only_policy         = var.tls_only_policy
}

locals {
  buckets = {
    artifacts = "${var.name}-artifacts-"
    notes     = "${var.name}-notes-"
  }
}
