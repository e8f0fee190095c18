terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Remote state example (uncomment and fill in; see README.md):
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "notes-api/terraform.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  #   encrypt      = true
  # }
}
