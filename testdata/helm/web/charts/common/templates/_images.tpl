{{/*
The image reference of an image map: registry/repository:tag@digest, with global.imageRegistry
taking precedence over the map's registry.
*/}}
{{- define "common.image" -}}
{{- $registry := .image.registry -}}
{{- if and .global .global.imageRegistry -}}
{{- $registry = .global.imageRegistry -}}
{{- end -}}
{{- $ref := printf "%s:%s" .image.repository (toString .image.tag) -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" $registry $ref -}}{{- end -}}
{{- if .image.digest -}}{{- $ref = printf "%s@%s" $ref .image.digest -}}{{- end -}}
{{- $ref -}}
{{- end -}}
