-- Microsoft 365 apps used per user (app x platform). Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_m365_app_user_detail', keys=['user_principal_name']) }}
