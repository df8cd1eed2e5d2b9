"""tap-microsoft365: a Singer tap for Microsoft 365 and Entra ID through Microsoft Graph."""
