-- PIM eligibility (Entra ID P2): who may activate a directory role, where, and until when. scheduleInfo
-- flattened: eligibility_starts_at, eligibility_ends_at (null: no expiry), expiration_type. Empty when
-- not loaded (no P2 licence or no RoleEligibilitySchedule.Read.Directory).
with source as (
    {{ m365_optional_source('role_eligibility_schedules', {
        'tenant_id': 'text', 'id': 'text', 'principalId': 'text', 'roleDefinitionId': 'text',
        'directoryScopeId': 'text', 'appScopeId': 'text', 'memberType': 'text', 'status': 'text',
        'createdUsing': 'text', 'createdDateTime': 'timestamp', 'modifiedDateTime': 'timestamp',
        'scheduleInfo': 'json'}) }}
)

select
    tenant_id,
    id as role_eligibility_schedule_id,
    "principalId" as principal_id,
    "roleDefinitionId" as role_definition_id,
    "directoryScopeId" as directory_scope_id,
    {{ m365_directory_scope_type('"directoryScopeId"') }} as directory_scope_type,
    "appScopeId" as app_scope_id,
    "memberType" as member_type,
    status,
    "createdUsing" as created_using,
    {{ m365_timestamp('"createdDateTime"') }} as created_date_time,
    {{ m365_timestamp('"modifiedDateTime"') }} as modified_date_time,
    {{ m365_timestamp(m365_json_text('"scheduleInfo"', 'startDateTime')) }} as eligibility_starts_at,
    {{ m365_timestamp(m365_json_text('"scheduleInfo"', ['expiration', 'endDateTime'])) }} as eligibility_ends_at,
    {{ m365_json_text('"scheduleInfo"', ['expiration', 'type']) }} as expiration_type,
    {{ m365_json_text('"scheduleInfo"', ['expiration', 'duration']) }} as expiration_duration
from source
