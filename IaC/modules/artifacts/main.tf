# The bucket of the function code, with the protections of ./bucket (the notes live in DynamoDB:
# ../notes_table).

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
  }
}
