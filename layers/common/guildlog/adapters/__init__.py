"""I/O at the edges: signatures, DynamoDB, S3, Discord REST. Clients are injected or built lazily."""
