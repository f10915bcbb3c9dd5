{{/*
The config file of each component: the keys of config/chorus.yaml that it reads, from
.Values.config, plus the addresses, ports, paths and provider names the chart decides.
*/}}

{{/* The model's base URL: openai.baseUrl, else the in-chart simulator. */}}
{{- define "chorus.llmBaseUrl" -}}
{{- if .Values.openai.baseUrl }}
{{- .Values.openai.baseUrl }}
{{- else if .Values.simulator.enabled }}
{{- printf "http://%s-llm-sim:%d/v1" (include "chorus.fullname" .) (int .Values.simulator.port) }}
{{- else }}
{{- fail "set openai.baseUrl (a real model) or simulator.enabled=true" }}
{{- end }}
{{- end }}

{{/* The Redis URL written into the config ("" for none; redis.existingSecret sets REDIS_URL instead). */}}
{{- define "chorus.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s-redis:6379" (include "chorus.fullname" .) }}
{{- else }}
{{- .Values.redis.url }}
{{- end }}
{{- end }}

{{/* The `llm` block every model caller reads. */}}
{{- define "chorus.llmConfig" -}}
{{- merge (dict "base_url" (include "chorus.llmBaseUrl" .)) (deepCopy .Values.config.llm) | toYaml }}
{{- end }}

{{/* The `limits` block: heap_mb 0, as Node takes each pod's heap ceiling from its memory limit. */}}
{{- define "chorus.limitsConfig" -}}
{{- merge (dict "heap_mb" 0) (deepCopy .Values.config.limits) | toYaml }}
{{- end }}

{{/* The mesh's settings: mTLS from the pod's own certificate files (each pod mounts only its identity at /etc/chorus-tls). */}}
{{- define "chorus.meshConfig" -}}
{{- $files := dict "mode" "files" "dir" "" "ca_file" "/etc/chorus-tls/ca.crt" "cert_file" "/etc/chorus-tls/tls.crt" "key_file" "/etc/chorus-tls/tls.key" }}
{{- merge $files (deepCopy .Values.config.security.mesh) | toYaml }}
{{- end }}

{{/* The `security` block of agents and history: the mesh, and how often its certificates are re-read. */}}
{{- define "chorus.meshSecurityConfig" -}}
{{- $s := .Values.config.security }}
{{- dict "insecure" $s.insecure "mesh" (include "chorus.meshConfig" . | fromYaml) "auth" (dict "reload_ms" $s.auth.reload_ms) | toYaml }}
{{- end }}

{{/* The orchestrator's `security` block: TLS on its port with its certificate, the mesh, and who may call. */}}
{{- define "chorus.orchestratorSecurityConfig" -}}
{{- $s := .Values.config.security }}
{{- $tls := dict "cert_file" "/etc/chorus-tls/tls.crt" "key_file" "/etc/chorus-tls/tls.key" "client_ca_file" "/etc/chorus-tls/ca.crt" }}
{{- $keys := ternary "/etc/chorus-keys/keys.yaml" "" (ne (include "chorus.keysSecret" .) "") }}
{{- dict
  "insecure" $s.insecure
  "tls" (merge $tls (deepCopy $s.tls))
  "mesh" (include "chorus.meshConfig" . | fromYaml)
  "auth" (merge (dict "keys_file" $keys) (deepCopy $s.auth)) | toYaml }}
{{- end }}

{{/* The orchestrator's config file: every key (it runs turns, pools, cache and the provider). */}}
{{- define "chorus.config.orchestrator" -}}
{{- $c := .Values.config }}
{{- $full := include "chorus.fullname" . }}
{{- $file := dict
  "workflow" $c.workflow
  "orchestrator" (merge (dict "host" "0.0.0.0" "port" (int .Values.orchestrator.port) "metrics_port" (int (include "chorus.metricsPort" .))) (deepCopy $c.orchestrator))
  "provider" (dict
    "kind" "kubernetes"
    "kubernetes" (merge (dict
      "namespace" ""
      "kubeconfig" ""
      "deployment_template" (printf "%s-agent-{pool}" $full)
      "service_template" (printf "%s-agent-{pool}" $full)
      "agent_port_name" "grpc"
      "lease_name" (printf "%s-orchestrator" $full)) (deepCopy $c.provider.kubernetes)))
  "history" (merge (dict "address" (include "chorus.historyAddress" .) "addresses" (list)) (deepCopy $c.history))
  "llm" (include "chorus.llmConfig" . | fromYaml)
  "cache" $c.cache
  "redis" (merge (dict "url" (include "chorus.redisUrl" .)) (deepCopy $c.redis))
  "limits" (include "chorus.limitsConfig" . | fromYaml)
  "security" (include "chorus.orchestratorSecurityConfig" . | fromYaml)
  "agents" $c.agents }}
{{- toYaml $file }}
{{- end }}

{{/*
The history service's config file. Its SQLite path is relative to its working directory, the /data
volume; with postgres, the database URL is the file the URL's Secret is mounted as.
*/}}
{{- define "chorus.config.history" -}}
{{- $urlFile := ternary "/etc/chorus-db/url" "" (eq (include "chorus.historyBackend" .) "postgres") }}
{{- $set := dict "host" "0.0.0.0" "port" (int .Values.history.port) "metrics_port" (int (include "chorus.metricsPort" .)) "path" "chorus.db" "postgres" (dict "url_file" $urlFile) }}
{{- $file := dict
  "workflow" .Values.config.workflow
  "history" (merge $set (deepCopy .Values.config.history))
  "security" (include "chorus.meshSecurityConfig" . | fromYaml) }}
{{- toYaml $file }}
{{- end }}

{{/* One pool's config file: its own persona, the model and the limits; call with (dict "root" $ "agent" $agent). */}}
{{- define "chorus.config.agent" -}}
{{- $file := dict
  "workflow" .root.Values.config.workflow
  "llm" (include "chorus.llmConfig" .root | fromYaml)
  "limits" (include "chorus.limitsConfig" .root | fromYaml)
  "security" (include "chorus.meshSecurityConfig" .root | fromYaml)
  "agents" (list .agent) }}
{{- toYaml $file }}
{{- end }}

{{/* The simulator's config file. */}}
{{- define "chorus.config.llmSim" -}}
{{- $file := dict
  "workflow" .Values.config.workflow
  "simulator" (merge (dict "host" "0.0.0.0" "port" (int .Values.simulator.port)) (deepCopy .Values.config.simulator)) }}
{{- toYaml $file }}
{{- end }}

{{/* True when the chart runs the simulator. */}}
{{- define "chorus.simulatorEnabled" -}}
{{- if and .Values.simulator.enabled (not .Values.openai.baseUrl) }}true{{ end }}
{{- end }}
