-- Activated directory (admin) roles.
with source as (
    {{ m365_live_source('directory_roles') }}
)

select
    tenant_id,
    id as role_id,
    "displayName" as display_name,
    description,
    "roleTemplateId" as role_template_id
from source
