-- Direct memberships (removed ones excluded): member_type is user, group, device, servicePrincipal or orgContact.
with source as (
    {{ m365_live_source('group_members') }}
)

select
    tenant_id,
    group_id,
    member_id,
    member_type
from source
