-- applications.passwordCredentials (client secrets) and keyCredentials (certificates) flattened: one row
-- per credential, never a secret value (Graph returns only hints and dates).
with applications as (
    {{ m365_live_source('applications') }}
),

passwords as (
    select tenant_id, id as application_id, "appId" as app_id, "displayName" as application_display_name,
        {{ m365_json_elements('"passwordCredentials"') }} as credential
    from applications
),

keys as (
    select tenant_id, id as application_id, "appId" as app_id, "displayName" as application_display_name,
        {{ m365_json_elements('"keyCredentials"') }} as credential
    from applications
),

credentials as (
    select
        tenant_id, application_id, app_id, application_display_name,
        'password' as credential_type,
        {{ m365_json_text('credential', 'keyId') }} as key_id,
        {{ m365_json_text('credential', 'displayName') }} as display_name,
        {{ m365_json_text('credential', 'hint') }} as hint,
        cast(null as {{ dbt.type_string() }}) as key_type,
        cast(null as {{ dbt.type_string() }}) as key_usage,
        {{ m365_json_text('credential', 'startDateTime') }} as start_date_time,
        {{ m365_json_text('credential', 'endDateTime') }} as end_date_time
    from passwords
    union all
    select
        tenant_id, application_id, app_id, application_display_name,
        'certificate' as credential_type,
        {{ m365_json_text('credential', 'keyId') }} as key_id,
        {{ m365_json_text('credential', 'displayName') }} as display_name,
        cast(null as {{ dbt.type_string() }}) as hint,
        {{ m365_json_text('credential', 'type') }} as key_type,
        {{ m365_json_text('credential', 'usage') }} as key_usage,
        {{ m365_json_text('credential', 'startDateTime') }} as start_date_time,
        {{ m365_json_text('credential', 'endDateTime') }} as end_date_time
    from keys
)

select
    tenant_id,
    application_id,
    app_id,
    application_display_name,
    credential_type,
    key_id,
    display_name,
    hint,
    key_type,
    key_usage,
    {{ m365_timestamp('start_date_time') }} as start_date_time,
    {{ m365_timestamp('end_date_time') }} as end_date_time
from credentials
