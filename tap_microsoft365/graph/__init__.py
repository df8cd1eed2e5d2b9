"""Microsoft Graph access: the client (the only HTTP), tokens, clouds, retries, pacing, errors."""
