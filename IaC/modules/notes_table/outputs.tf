output "name" {
  description = "Name of the notes table (NOTES_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the notes table (for the functions' IAM policies)."
  value       = aws_dynamodb_table.this.arn
}
