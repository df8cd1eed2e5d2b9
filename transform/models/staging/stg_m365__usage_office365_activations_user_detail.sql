-- Microsoft 365 apps activations per user and product. Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_office365_activations_user_detail', keys=['user_principal_name', 'product_type']) }}
