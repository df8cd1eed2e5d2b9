-- Authentication method registration per user (Graph's userRegistrationDetails): MFA, SSPR, passwordless.
-- Empty when the table is absent (var m365_using_user_registration_details: null = detect, false = never).
{%- set use = var('m365_using_user_registration_details', none) -%}
{%- set columns = {
    'tenant_id': 'text', 'id': 'text', 'userPrincipalName': 'text', 'userDisplayName': 'text',
    'userType': 'text', 'isAdmin': 'bool', 'isMfaRegistered': 'bool', 'isMfaCapable': 'bool',
    'isSsprRegistered': 'bool', 'isSsprEnabled': 'bool', 'isSsprCapable': 'bool',
    'isPasswordlessCapable': 'bool', 'defaultMfaMethod': 'text', 'methodsRegistered': 'text_array',
    'lastUpdatedDateTime': 'timestamp'} %}

with source as (
    {%- if use is sameas true %}
    {{ m365_live_source('user_registration_details') }}
    {%- else %}
    {{ m365_optional_source('user_registration_details', columns, enabled=(use is not sameas false)) }}
    {%- endif %}
)

select
    tenant_id,
    id as user_id,
    "userPrincipalName" as user_principal_name,
    "userDisplayName" as user_display_name,
    "userType" as user_type,
    "isAdmin" as is_admin,
    "isMfaRegistered" as is_mfa_registered,
    "isMfaCapable" as is_mfa_capable,
    "isSsprRegistered" as is_sspr_registered,
    "isSsprEnabled" as is_sspr_enabled,
    "isSsprCapable" as is_sspr_capable,
    "isPasswordlessCapable" as is_passwordless_capable,
    "defaultMfaMethod" as default_mfa_method,
    {{ m365_string_list('"methodsRegistered"') }} as methods_registered,
    {{ m365_timestamp('"lastUpdatedDateTime"') }} as last_updated_date_time
from source
