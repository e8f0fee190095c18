# The notes table: the DynamoDB store's schema (crates/notes/src/store/dynamo.rs owns it; the
# IaC test checks these key names against it). One item per note, keyed by owner and note id,
# and the counter shards `#count#0..15` (partition) / `#` (sort).

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:DynamoDB encrypts every table at rest; the AWS-owned key is the default to keep KMS requests and key cost off every call, and kms_key_arn selects a customer-managed key where policy requires one.
  name         = "${var.name}-notes"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "owner"
  range_key    = "id"

  attribute {
    name = "owner"
    type = "S"
  }

  attribute {
    name = "id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  # DynamoDB's AWS-owned key unless a customer-managed one is given.
  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection

  # Declared and off: no item expires today; a future "trash" could set `expires_at`.
  ttl {
    attribute_name = "expires_at"
    enabled        = false
  }
}
