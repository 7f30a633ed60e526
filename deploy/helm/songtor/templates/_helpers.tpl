{{/*
What the code fixes about each service, not the ministry: its module, the prefix of its settings,
its port, whether it opens personal data (the master keys) and whether it runs the ops view (the
songtor-ops login). tests/unit/test_helm_chart.py holds these to the services' settings classes.
*/}}
{{- define "songtor.services" -}}
intake: {module: intake, prefix: INTAKE_, port: 8081, masterKeys: true, ops: false}
routing: {module: routing, prefix: ROUTING_, port: 8082, masterKeys: false, ops: false}
agency-adapters: {module: agency_adapters, prefix: AGENCY_, port: 8083, masterKeys: true, ops: false}
reporting: {module: reporting, prefix: REPORTING_, port: 8084, masterKeys: true, ops: true}
{{- end -}}

{{- define "songtor.estate" -}}
{{- .Files.Get "files/kafka-estate.yaml" -}}
{{- end -}}

{{- define "songtor.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "songtor.labels" -}}
app.kubernetes.io/name: songtor
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- if .service }}
app.kubernetes.io/component: {{ .service }}
{{- end }}
{{- end -}}

{{- define "songtor.selector" -}}
app.kubernetes.io/name: songtor
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "songtor.image" -}}
{{- $image := .Values.image -}}
{{- printf "%s:%s" (required "image.repository is required" $image.repository) (required "image.tag is required" $image.tag | toString) -}}
{{- end -}}

{{/* The Secret Strimzi's User Operator writes for a principal: named like its KafkaUser. */}}
{{- define "songtor.userSecret" -}}
{{- replace "_" "-" . -}}
{{- end -}}

{{/* The database URL, from the service's own Secret: all a migration Job and a service share. */}}
{{- define "songtor.databaseEnv" -}}
- name: {{ .facts.prefix }}DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "services.%s.database.secretName is required" .service) .values.database.secretName }}
      key: {{ required (printf "services.%s.database.key is required" .service) .values.database.key }}
{{- end -}}
