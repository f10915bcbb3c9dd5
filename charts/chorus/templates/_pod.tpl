{{/* Pieces every Chorus pod shares: hardening, scheduling, probes, volumes. */}}

{{/* Pod-level settings; call with (dict "root" $ "pod" <component values>). */}}
{{- define "chorus.podCommon" -}}
enableServiceLinks: false
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .pod.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .pod.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The chorus container's image, hardening and resources; call with (dict "root" $ "pod" <component values>). */}}
{{- define "chorus.containerCommon" -}}
image: {{ include "chorus.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
resources:
  {{- toYaml .pod.resources | nindent 2 }}
{{- end }}

{{/*
Readiness and liveness probes: GET /healthz on the metrics port (200 while the gRPC server is
SERVING, 503 while it drains). gRPC probes cannot speak the mesh's mTLS.
*/}}
{{- define "chorus.probes" -}}
readinessProbe:
  httpGet: { path: /healthz, port: metrics }
  periodSeconds: 2
  timeoutSeconds: 2
  failureThreshold: 2
livenessProbe:
  httpGet: { path: /healthz, port: metrics }
  initialDelaySeconds: 10
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* The container ports: grpc and metrics. */}}
{{- define "chorus.ports" -}}
ports:
  - name: grpc
    containerPort: {{ int .port }}
  - name: metrics
    containerPort: {{ int .root.Values.metrics.port }}
{{- end }}

{{/* Mounts of the config file, the pod's own certificate (with "tls": true) and the writable /tmp. */}}
{{- define "chorus.volumeMounts" -}}
- name: config
  mountPath: /etc/chorus
  readOnly: true
{{- if .tls }}
- name: tls
  mountPath: /etc/chorus-tls
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
Volumes for chorus.volumeMounts; call with (dict "root" $ "configMap" NAME "identity" "agent"),
"identity" only for a pod with a certificate. 288 is 0440: the key is readable by the pod's group.
*/}}
{{- define "chorus.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
{{- if .identity }}
- name: tls
  secret:
    secretName: {{ include "chorus.tlsSecret" (dict "root" .root "identity" .identity) }}
    defaultMode: 288 # 0440: the owner and the pod's group (fsGroup) may read
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{/* The orchestrator's mount of the API keys file, when there is one. */}}
{{- define "chorus.keysMount" -}}
{{- if include "chorus.keysSecret" . -}}
- name: api-keys
  mountPath: /etc/chorus-keys
  readOnly: true
{{- end }}
{{- end }}

{{/* The API keys file's volume: the Secret's key as keys.yaml. */}}
{{- define "chorus.keysVolume" -}}
{{- with include "chorus.keysSecret" . -}}
- name: api-keys
  secret:
    secretName: {{ . }}
    items:
      - key: {{ if $.Values.auth.existingSecret }}{{ $.Values.auth.existingSecretKey }}{{ else }}keys.yaml{{ end }}
        path: keys.yaml
    defaultMode: 288 # 0440: the owner and the pod's group (fsGroup) may read
{{- end }}
{{- end }}

{{/* OPENAI_API_KEY from its Secret; optional unless the chart knows the Secret exists. */}}
{{- define "chorus.openaiEnv" -}}
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "chorus.openaiSecret" . }}
      key: {{ if .Values.openai.existingSecret }}{{ .Values.openai.existingSecretKey }}{{ else }}OPENAI_API_KEY{{ end }}
      {{- if not (or .Values.openai.existingSecret .Values.openai.apiKey) }}
      optional: true
      {{- end }}
{{- end }}

{{/*
OTEL_* variables of a Chorus container when tracing.otlpEndpoint is set, else nothing. The
collector's auth headers come only from tracing.headersSecret, never from a ConfigMap.
*/}}
{{- define "chorus.tracingEnv" -}}
{{- with .Values.tracing }}
{{- if .otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .otlpEndpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .sampler | quote }}
{{- with .samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- $attributes := list (printf "k8s.namespace.name=%s" $.Release.Namespace) }}
{{- range $key, $value := .resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $key $value) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attributes | quote }}
{{- with .headersSecret }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.tracing.headersSecretKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
