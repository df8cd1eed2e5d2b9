-- Directory role definitions (unified RBAC): every built-in role, activated or not, and custom roles.
-- role_template_id joins directory_roles; role_definition_id joins role assignments and eligibility.
with source as (
    {{ m365_optional_source('role_definitions', {
        'tenant_id': 'text', 'id': 'text', 'displayName': 'text', 'description': 'text',
        'templateId': 'text', 'isBuiltIn': 'bool', 'isEnabled': 'bool', 'resourceScopes': 'text_array',
        'rolePermissions': 'json_array', 'version': 'text'}) }}
)

select
    tenant_id,
    id as role_definition_id,
    "displayName" as display_name,
    description,
    "templateId" as role_template_id,
    "isBuiltIn" as is_built_in,
    "isEnabled" as is_enabled,
    {{ m365_string_list('"resourceScopes"') }} as resource_scopes,
    {{ m365_json_length('"rolePermissions"') }} as role_permission_count,
    -- the permissions themselves (allowedResourceActions, condition) as JSON text
    {{ m365_json_string('"rolePermissions"') }} as role_permissions,
    version
from source
