"""Authentication: API users, hashed tokens and Zoho-style scopes."""
