{#- JSON on both adapters. target-postgres loads arrays of objects as jsonb[] (or jsonb), arrays of
    strings as text[], objects as jsonb; target-duckdb loads all of them as JSON. to_jsonb() turns each
    PostgreSQL shape into one jsonb value, so one model works on every shape. -#}

{#- A set-returning expression (use it in a select list): one row per element of a JSON array column,
    each a JSON value; no rows for null or []. -#}
{% macro m365_json_elements(column) -%}
    {{ return(adapter.dispatch('m365_json_elements', 'microsoft365')(column)) }}
{%- endmacro %}

{% macro default__m365_json_elements(column) -%}
    jsonb_array_elements(to_jsonb({{ column }}))
{%- endmacro %}

{% macro duckdb__m365_json_elements(column) -%}
    unnest(from_json(cast({{ column }} as json), '["json"]'))
{%- endmacro %}

{#- A field of a JSON object as text (null when missing or JSON null); path: a key or a list of keys. -#}
{% macro m365_json_text(expr, path) -%}
    {{ return(adapter.dispatch('m365_json_text', 'microsoft365')(expr, path)) }}
{%- endmacro %}

{% macro default__m365_json_text(expr, path) -%}
    {%- set keys = [path] if path is string else path -%}
    (to_jsonb({{ expr }}) #>> '{ {{- keys | join(',') -}} }')
{%- endmacro %}

{% macro duckdb__m365_json_text(expr, path) -%}
    {%- set keys = [path] if path is string else path -%}
    (cast({{ expr }} as json) ->> '$.{{ keys | join('.') }}')
{%- endmacro %}

{#- A JSON array of strings (text[] / jsonb / JSON) as one sorted, comma-separated string; null when empty. -#}
{% macro m365_string_list(column, separator=', ') -%}
    {{ return(adapter.dispatch('m365_string_list', 'microsoft365')(column, separator)) }}
{%- endmacro %}

{% macro default__m365_string_list(column, separator) -%}
    (select string_agg(e, '{{ separator }}' order by e)
     from jsonb_array_elements_text(
         case when jsonb_typeof(to_jsonb({{ column }})) = 'array' then to_jsonb({{ column }}) end
     ) as e)
{%- endmacro %}

{% macro duckdb__m365_string_list(column, separator) -%}
    nullif(array_to_string(list_sort(from_json(cast({{ column }} as json), '["varchar"]')), '{{ separator }}'), '')
{%- endmacro %}

{#- Number of elements of a JSON array column (0 for null). -#}
{% macro m365_json_length(column) -%}
    {{ return(adapter.dispatch('m365_json_length', 'microsoft365')(column)) }}
{%- endmacro %}

{% macro default__m365_json_length(column) -%}
    coalesce(jsonb_array_length(
        case when jsonb_typeof(to_jsonb({{ column }})) = 'array' then to_jsonb({{ column }}) end
    ), 0)
{%- endmacro %}

{% macro duckdb__m365_json_length(column) -%}
    coalesce(cast(json_array_length(cast({{ column }} as json)) as integer), 0)
{%- endmacro %}

{#- Whether a JSON array of strings holds a value (false for null). -#}
{% macro m365_json_contains(column, value) -%}
    {{ return(adapter.dispatch('m365_json_contains', 'microsoft365')(column, value)) }}
{%- endmacro %}

{% macro default__m365_json_contains(column, value) -%}
    coalesce(to_jsonb({{ column }}) @> to_jsonb(array[{{ value }}]::text[]), false)
{%- endmacro %}

{% macro duckdb__m365_json_contains(column, value) -%}
    coalesce(list_contains(from_json(cast({{ column }} as json), '["varchar"]'), {{ value }}), false)
{%- endmacro %}

{#- A set-returning expression: the words of a space-separated string (oauth2PermissionGrant.scope). -#}
{% macro m365_split_words(column) -%}
    {{ return(adapter.dispatch('m365_split_words', 'microsoft365')(column)) }}
{%- endmacro %}

{% macro default__m365_split_words(column) -%}
    regexp_split_to_table(trim({{ column }}), '\s+')
{%- endmacro %}

{% macro duckdb__m365_split_words(column) -%}
    unnest(string_split_regex(trim({{ column }}), '\s+'))
{%- endmacro %}

{#- A member of a JSON object as JSON (for nested arrays and objects); key: a key or a list of keys. -#}
{% macro m365_json_path(expr, key) -%}
    {{ return(adapter.dispatch('m365_json_path', 'microsoft365')(expr, key)) }}
{%- endmacro %}

{% macro default__m365_json_path(expr, key) -%}
    {%- if key is string -%}
    (to_jsonb({{ expr }}) -> '{{ key }}')
    {%- else -%}
    (to_jsonb({{ expr }}) #> '{ {{- key | join(',') -}} }')
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__m365_json_path(expr, key) -%}
    {%- set keys = [key] if key is string else key -%}
    (cast({{ expr }} as json) -> '$.{{ keys | join('.') }}')
{%- endmacro %}

{#- An aggregate: the distinct non-null values of a text expression, sorted and comma-separated. -#}
{% macro m365_agg_list(expr, separator=', ') -%}
    string_agg(distinct {{ expr }}, '{{ separator }}' order by {{ expr }})
{%- endmacro %}

{#- A set-returning expression: one row per string of a JSON array of strings, as text; no rows for null,
    [] or a value that is not an array. -#}
{% macro m365_json_text_elements(column) -%}
    {{ return(adapter.dispatch('m365_json_text_elements', 'microsoft365')(column)) }}
{%- endmacro %}

{% macro default__m365_json_text_elements(column) -%}
    jsonb_array_elements_text(case when jsonb_typeof(to_jsonb({{ column }})) = 'array' then to_jsonb({{ column }}) end)
{%- endmacro %}

{% macro duckdb__m365_json_text_elements(column) -%}
    unnest(case when json_type(cast({{ column }} as json)) = 'ARRAY'
        then from_json(cast({{ column }} as json), '["varchar"]') end)
{%- endmacro %}

{#- A field of each object of a JSON array (e.g. ipRanges[].cidrAddress) as one sorted, comma-separated
    string; null when there is none. -#}
{% macro m365_object_field_list(column, key, separator=', ') -%}
    {{ return(adapter.dispatch('m365_object_field_list', 'microsoft365')(column, key, separator)) }}
{%- endmacro %}

{% macro default__m365_object_field_list(column, key, separator) -%}
    (select string_agg(e ->> '{{ key }}', '{{ separator }}' order by e ->> '{{ key }}')
     from jsonb_array_elements(
         case when jsonb_typeof(to_jsonb({{ column }})) = 'array' then to_jsonb({{ column }}) end
     ) as e)
{%- endmacro %}

{% macro duckdb__m365_object_field_list(column, key, separator) -%}
    nullif(array_to_string(list_sort([json_extract_string(x, '$.{{ key }}')
        for x in from_json(cast({{ column }} as json), '["json"]')
        if json_extract_string(x, '$.{{ key }}') is not null]), '{{ separator }}'), '')
{%- endmacro %}

{#- The largest value of a text field over the objects of a JSON array (ISO date-times compare as text). -#}
{% macro m365_object_field_max(column, key) -%}
    {{ return(adapter.dispatch('m365_object_field_max', 'microsoft365')(column, key)) }}
{%- endmacro %}

{% macro default__m365_object_field_max(column, key) -%}
    (select max(e ->> '{{ key }}')
     from jsonb_array_elements(
         case when jsonb_typeof(to_jsonb({{ column }})) = 'array' then to_jsonb({{ column }}) end
     ) as e)
{%- endmacro %}

{% macro duckdb__m365_object_field_max(column, key) -%}
    list_max([json_extract_string(x, '$.{{ key }}') for x in from_json(cast({{ column }} as json), '["json"]')])
{%- endmacro %}

{#- A JSON value (object, array; jsonb[] included) as JSON text, for columns kept whole. -#}
{% macro m365_json_string(column) -%}
    {{ return(adapter.dispatch('m365_json_string', 'microsoft365')(column)) }}
{%- endmacro %}

{% macro default__m365_json_string(column) -%}
    cast(to_jsonb({{ column }}) as text)
{%- endmacro %}

{% macro duckdb__m365_json_string(column) -%}
    cast(cast({{ column }} as json) as varchar)
{%- endmacro %}
