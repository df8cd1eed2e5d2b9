{#- Generic test: no two rows share the values of these columns (a composite key, e.g. tenant_id + id). -#}
{% test m365_unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Generic test: an expression holds on every row (e.g. "assigned_users >= active_30d_users"). -#}
{% test m365_expression_is_true(model, expression) %}
select * from {{ model }} where not coalesce({{ expression }}, false)
{% endtest %}
