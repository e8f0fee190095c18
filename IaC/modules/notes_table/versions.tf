# The provider this module's resources come from. Its version and Terraform's are pinned once, by
# the root module (IaC/terraform.tf).
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
