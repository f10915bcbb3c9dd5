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

{{/* Native gRPC readiness and liveness probes on a port number (gRPC probes cannot take a port name). */}}
{{- define "chorus.grpcProbes" -}}
readinessProbe:
  grpc: { port: {{ int . }} }
  periodSeconds: 2
  timeoutSeconds: 2
  failureThreshold: 2
livenessProbe:
  grpc: { port: {{ int . }} }
  initialDelaySeconds: 10
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* The container ports: grpc and, when enabled, metrics. */}}
{{- define "chorus.ports" -}}
ports:
  - name: grpc
    containerPort: {{ int .port }}
  {{- if .root.Values.metrics.enabled }}
  - name: metrics
    containerPort: {{ int .root.Values.metrics.port }}
  {{- end }}
{{- end }}

{{/* Mounts of the config file and the writable /tmp. */}}
{{- define "chorus.volumeMounts" -}}
- name: config
  mountPath: /etc/chorus
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Volumes for chorus.volumeMounts; call with the ConfigMap name. */}}
{{- define "chorus.volumes" -}}
- name: config
  configMap:
    name: {{ . }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
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
