-- Active directory role assignments (unified RBAC): who holds which role, and where. directory_scope_id
-- is "/" for the whole tenant, "/administrativeUnits/<id>" for an administrative unit, or "/<object id>"
-- for one object (an app registration); directory_scope_type says which.
with source as (
    {{ m365_optional_source('role_assignments', {
        'tenant_id': 'text', 'id': 'text', 'principalId': 'text', 'roleDefinitionId': 'text',
        'directoryScopeId': 'text', 'appScopeId': 'text', 'condition': 'text',
        'principalOrganizationId': 'text'}) }}
)

select
    tenant_id,
    id as role_assignment_id,
    "principalId" as principal_id,
    "roleDefinitionId" as role_definition_id,
    "directoryScopeId" as directory_scope_id,
    {{ m365_directory_scope_type('"directoryScopeId"') }} as directory_scope_type,
    case when "directoryScopeId" like '/administrativeUnits/%'
        then substr("directoryScopeId", {{ ('/administrativeUnits/' | length) + 1 }}) end
        as administrative_unit_id,
    "appScopeId" as app_scope_id,
    condition,
    "principalOrganizationId" as principal_organization_id
from source
