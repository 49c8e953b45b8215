#!/usr/bin/env ruby
# frozen_string_literal: true

# Habit: one `Net::HTTP.start` block around all requests: one persistent connection (HTTP
# keep-alive), one TLS session, finished when the block ends.
# Usage: ruby_net_http_persistent.rb [N=50]   (URL in TLS_SESSION_COST_URL, CA in
# SSL_CERT_FILE, which OpenSSL's default verify paths read)
require 'net/http'
require 'uri'

name = 'ruby_net_http_persistent'
n = Integer(ARGV.fetch(0, '50'))
url = ENV.fetch('TLS_SESSION_COST_URL', '')
abort "#{name}: TLS_SESSION_COST_URL is not set" if url.empty?
uri = URI(url)
begin
  Net::HTTP.start(uri.host, uri.port, use_ssl: true) do |http|
    (1..n).each do |i|
      response = http.get(uri.request_uri)
      abort "#{name}: request #{i}: HTTP #{response.code}" unless response.code == '200'
    end
  end
rescue StandardError => e
  abort "#{name}: #{e.message}"
end
warn "#{name}: #{n} requests ok"
