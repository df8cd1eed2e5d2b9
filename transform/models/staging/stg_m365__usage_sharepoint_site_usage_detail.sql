-- SharePoint site files, page views and storage. Names are concealed (32 hex characters, names_concealed) unless the tenant's report settings reveal them.
{{ m365_usage_staging('usage_sharepoint_site_usage_detail', keys=['site_id']) }}
