-- Owners of each group (users; service principals where Graph returns them); empty when not loaded.
with source as (
    {{ m365_optional_source('group_owners', {
        'tenant_id': 'text', 'group_id': 'text', 'owner_id': 'text', 'owner_type': 'text',
        'userPrincipalName': 'text', 'displayName': 'text'}) }}
)

select
    tenant_id,
    group_id,
    owner_id,
    owner_type,
    "userPrincipalName" as user_principal_name,
    "displayName" as display_name
from source
