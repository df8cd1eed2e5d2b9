-- OneDrive files and storage per account. Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_onedrive_usage_account_detail', keys=['site_url']) }}
