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

{{/* The metrics port the services are given (/metrics and the probes' /healthz). */}}
{{- define "chorus.metricsPort" -}}
{{- int .Values.metrics.port }}
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

{{/* The ingress rule for the metrics port, when networkPolicy.metricsFrom names scrapers. */}}
{{- define "chorus.metricsIngress" -}}
{{- if .Values.networkPolicy.metricsFrom -}}
- ports: [{ port: metrics }]
  from:
    {{- toYaml .Values.networkPolicy.metricsFrom | nindent 4 }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding one identity's certificate; call with (dict "root" $ "identity" "agent"). */}}
{{- define "chorus.tlsSecret" -}}
{{- $existing := "" }}
{{- if eq .root.Values.tls.source "existingSecrets" }}{{ $existing = get .root.Values.tls.existingSecrets .identity }}{{ end }}
{{- $existing | default (printf "%s-%s-tls" (include "chorus.fullname" .root) .identity) }}
{{- end }}

{{/*
The names one identity's certificate carries, as a YAML list, the common name first: the mesh
name, and for the orchestrator also its Service's DNS names and tls.extraDnsNames. Call with
(dict "root" $ "identity" "orchestrator").
*/}}
{{- define "chorus.tlsNames" -}}
{{- $mesh := .root.Values.config.security.mesh }}
{{- $names := list (get $mesh (printf "%s_name" .identity)) }}
{{- if eq .identity "orchestrator" }}
{{- $svc := printf "%s-orchestrator" (include "chorus.fullname" .root) }}
{{- $ns := .root.Release.Namespace }}
{{- $names = concat $names (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .root.Values.tls.clusterDomain)) .root.Values.tls.extraDnsNames }}
{{- end }}
{{- toYaml (uniq $names) }}
{{- end }}

{{/* Name of the Secret holding the API keys file ("" when there is none). */}}
{{- define "chorus.keysSecret" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else if .Values.auth.keysFile }}
{{- printf "%s-api-keys" (include "chorus.fullname" .) }}
{{- end }}
{{- end }}

{{/* Fails unless callers must authenticate (a keys file or an OIDC issuer) or the operator accepted the risk. */}}
{{- define "chorus.checkAuth" -}}
{{- if not (or (include "chorus.keysSecret" .) .Values.config.security.auth.oidc.issuer .Values.config.security.insecure) }}
{{- fail "chorus: no authentication configured. Set auth.existingSecret (a Secret holding an API keys file; make keys with `chorus keys create --principal NAME --roles user`), auth.keysFile, or config.security.auth.oidc.issuer and .audience; or, to let anyone who reaches the orchestrator act as admin, config.security.insecure=true (see values.yaml)" }}
{{- end }}
{{- end }}

{{/* History's backend, config.history.backend: "sqlite" (default) or "postgres", which needs the URL's Secret. */}}
{{- define "chorus.historyBackend" -}}
{{- $backend := .Values.config.history.backend | default "sqlite" }}
{{- if and (eq $backend "postgres") (not .Values.history.postgres.existingSecret) }}
{{- fail "config.history.backend=postgres needs history.postgres.existingSecret: a Secret holding the database URL" }}
{{- end }}
{{- $backend }}
{{- end }}

{{/* What the orchestrator dials for history: the ClusterIP Service, or with postgres the headless one, whose every pod address it spreads calls across. */}}
{{- define "chorus.historyAddress" -}}
{{- $suffix := ternary "history-replicas" "history" (eq (include "chorus.historyBackend" .) "postgres") }}
{{- printf "%s-%s:%d" (include "chorus.fullname" .) $suffix (int .Values.history.port) }}
{{- end }}
