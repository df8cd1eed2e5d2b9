-- Microsoft 365 licences and last activity per service, per user and report date. Names are concealed
-- (32 hex characters, names_concealed) unless the tenant's report settings reveal them; last_activity_date
-- is the newest of the six services' dates.
with source as (
    {{ m365_optional_source('usage_office365_active_user_detail', {
        'tenant_id': 'text', 'report_date': 'date', 'report_refresh_date': 'date',
        'user_principal_name': 'text', 'display_name': 'text', 'is_deleted': 'bool',
        'deleted_date': 'date', 'has_exchange_license': 'bool', 'has_onedrive_license': 'bool',
        'has_sharepoint_license': 'bool', 'has_skype_for_business_license': 'bool',
        'has_yammer_license': 'bool', 'has_teams_license': 'bool',
        'exchange_last_activity_date': 'date', 'onedrive_last_activity_date': 'date',
        'sharepoint_last_activity_date': 'date', 'skype_for_business_last_activity_date': 'date',
        'yammer_last_activity_date': 'date', 'teams_last_activity_date': 'date',
        'assigned_products': 'text_array', 'names_concealed': 'bool'}) }}
),

typed as (
    select
        tenant_id,
        {{ m365_date('report_date') }} as report_date,
        {{ m365_date('report_refresh_date') }} as report_refresh_date,
        user_principal_name,
        lower(user_principal_name) as user_principal_name_lower,
        display_name,
        is_deleted,
        {{ m365_date('deleted_date') }} as deleted_date,
        has_exchange_license,
        has_onedrive_license,
        has_sharepoint_license,
        has_skype_for_business_license,
        has_yammer_license,
        has_teams_license,
        {{ m365_date('exchange_last_activity_date') }} as exchange_last_activity_date,
        {{ m365_date('onedrive_last_activity_date') }} as onedrive_last_activity_date,
        {{ m365_date('sharepoint_last_activity_date') }} as sharepoint_last_activity_date,
        {{ m365_date('skype_for_business_last_activity_date') }} as skype_for_business_last_activity_date,
        {{ m365_date('yammer_last_activity_date') }} as yammer_last_activity_date,
        {{ m365_date('teams_last_activity_date') }} as teams_last_activity_date,
        {{ m365_string_list('assigned_products', ' + ') }} as assigned_products,
        coalesce(names_concealed, false) as names_concealed
    from source
)

select
    *,
    {{ m365_greatest(['exchange_last_activity_date', 'onedrive_last_activity_date',
        'sharepoint_last_activity_date', 'skype_for_business_last_activity_date',
        'yammer_last_activity_date', 'teams_last_activity_date']) }} as last_activity_date
from typed
