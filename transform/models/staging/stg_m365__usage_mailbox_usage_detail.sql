-- Mailbox storage and quotas per user (period snapshot). Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_mailbox_usage_detail', keys=['user_principal_name']) }}
