package com.foxtrackr.fanout.sinks;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

import com.foxtrackr.fanout.config.ConfigException;
import com.foxtrackr.fanout.config.ConfigKeys;

/**
 * An s3 sink's archive (a bean of sink-s3.yaml): the archive's layout, and the S3 client for AWS or any
 * S3-compatible store that the aws2-s3 endpoint writes with, bound as s3-(sink) when the route is made.
 */
public class S3Archive extends Archive implements CamelContextAware {
    private CamelContext context;
    private String region = "us-east-1";
    private boolean pathStyle;
    private String endpoint;
    private String accessKeyId;
    private String secretAccessKey;

    /** When the route is made: the layout is checked, and the client bound for the aws2-s3 endpoint. */
    public void connect() {
        check();
        context.getRegistry().bind("s3-" + sink(), build());
    }

    public S3Client build() {
        String prefix = "fanout.sink." + sink() + ".";
        S3ClientBuilder s3 = S3Client.builder()
                .region(Region.of(region))
                .forcePathStyle(pathStyle)
                // S3-compatible stores often refuse the checksums the SDK now adds by default
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        if (endpoint != null) {
            try {
                s3.endpointOverride(java.net.URI.create(endpoint));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(prefix + "endpoint", "is not a URL: " + endpoint);
            }
        }
        if (accessKeyId != null) {
            if (secretAccessKey == null) {
                throw new ConfigException(prefix + "secret-access-key", "is required with " + prefix + "access-key-id, from the environment ("
                        + ConfigKeys.envName(prefix + "secret-access-key") + ")");
            }
            s3.credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secretAccessKey)));
        } else {
            s3.credentialsProvider(DefaultCredentialsProvider.builder().build());
        }
        return s3.build();
    }

    @Override
    public void setCamelContext(CamelContext context) {
        this.context = context;
    }

    @Override
    public CamelContext getCamelContext() {
        return context;
    }

    public void setRegion(String region) {
        this.region = region;
    }

    public void setPathStyle(boolean pathStyle) {
        this.pathStyle = pathStyle;
    }

    public void setEndpoint(String endpoint) {
        this.endpoint = InfluxConnection.blankAsNull(endpoint);
    }

    public void setAccessKeyId(String accessKeyId) {
        this.accessKeyId = InfluxConnection.blankAsNull(accessKeyId);
    }

    public void setSecretAccessKey(String secretAccessKey) {
        this.secretAccessKey = InfluxConnection.blankAsNull(secretAccessKey);
    }
}
