-- Provisioning events (empty without Entra ID P1/P2).
with source as (
    {{ m365_optional_source('provisioning_logs', {
        'tenant_id': 'text', 'id': 'text', 'activityDateTime': 'timestamp', 'jobId': 'text',
        'cycleId': 'text', 'changeId': 'text', 'provisioningAction': 'text',
        'durationInMilliseconds': 'int', 'provisioningStatusInfo': 'json', 'servicePrincipal': 'json',
        'sourceSystem': 'json', 'targetSystem': 'json', 'sourceIdentity': 'json',
        'targetIdentity': 'json'}) }}
)

select
    tenant_id,
    id as provisioning_log_id,
    {{ m365_timestamp('"activityDateTime"') }} as activity_date_time,
    "jobId" as job_id,
    "cycleId" as cycle_id,
    "changeId" as change_id,
    "provisioningAction" as provisioning_action,
    cast("durationInMilliseconds" as bigint) as duration_in_milliseconds,
    {{ m365_json_text('"provisioningStatusInfo"', 'status') }} as status,
    {{ m365_json_text('"provisioningStatusInfo"', ['errorInformation', 'errorCode']) }} as error_code,
    {{ m365_json_text('"servicePrincipal"', 'id') }} as service_principal_id,
    {{ m365_json_text('"servicePrincipal"', 'displayName') }} as service_principal_display_name,
    {{ m365_json_text('"sourceSystem"', 'displayName') }} as source_system,
    {{ m365_json_text('"targetSystem"', 'displayName') }} as target_system,
    {{ m365_json_text('"sourceIdentity"', 'id') }} as source_identity_id,
    {{ m365_json_text('"sourceIdentity"', 'displayName') }} as source_identity_display_name,
    {{ m365_json_text('"targetIdentity"', 'id') }} as target_identity_id,
    {{ m365_json_text('"targetIdentity"', 'displayName') }} as target_identity_display_name
from source
