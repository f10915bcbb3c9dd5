{{/* Names, labels and the image. */}}

{{/* The chart name, or nameOverride. */}}
{{- define "chorus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource-name prefix: the release name, with the chart name unless it already holds it. */}}
{{- define "chorus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "history"). */}}
{{- define "chorus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chorus.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects; call with (dict "root" $ "component" "history"). */}}
{{- define "chorus.labels" -}}
{{ include "chorus.selectorLabels" . }}
app.kubernetes.io/part-of: chorus
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The chorus image reference. */}}
{{- define "chorus.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The metrics port the services are given (-1 disables /metrics). */}}
{{- define "chorus.metricsPort" -}}
{{- if .Values.metrics.enabled }}{{ int .Values.metrics.port }}{{ else }}-1{{ end }}
{{- end }}

{{/* Name of the agent Deployment and Service of one pool; call with (dict "root" $ "pool" "creative"). */}}
{{- define "chorus.poolName" -}}
{{- printf "%s-agent-%s" (include "chorus.fullname" .root) .pool }}
{{- end }}

{{/* Name of the Secret that holds OPENAI_API_KEY. */}}
{{- define "chorus.openaiSecret" -}}
{{- .Values.openai.existingSecret | default (printf "%s-openai" (include "chorus.fullname" .)) }}
{{- end }}

{{/* Fails when a key of `pools` names no agent in config.agents (a typo would be silently ignored). */}}
{{- define "chorus.checkPools" -}}
{{- $names := list }}
{{- range .Values.config.agents }}{{ $names = append $names .name }}{{ end }}
{{- range $pool, $_ := .Values.pools }}
{{- if not (has $pool $names) }}
{{- fail (printf "pools.%s: no agent named %q in config.agents (agents: %s)" $pool $pool (join ", " $names)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* A NetworkPolicy peer: this release's pods of the given components; call with (dict "root" $ "components" (list ...)). */}}
{{- define "chorus.peers" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ include "chorus.name" .root }}
      app.kubernetes.io/instance: {{ .root.Release.Name }}
    matchExpressions:
      - { key: app.kubernetes.io/component, operator: In, values: [{{ join ", " .components }}] }
{{- end }}

{{/* The ingress rule for the metrics port, when metrics are on and networkPolicy.metricsFrom names scrapers. */}}
{{- define "chorus.metricsIngress" -}}
{{- if and .Values.metrics.enabled .Values.networkPolicy.metricsFrom -}}
- ports: [{ port: metrics }]
  from:
    {{- toYaml .Values.networkPolicy.metricsFrom | nindent 4 }}
{{- end }}
{{- end }}
